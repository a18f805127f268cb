"""The plug-in registries of generation: filled by the classes as they are defined.

A module of its own that imports nothing, so that the models' choices (which read these) need not
import the packages that define techniques and teachers, which themselves import the models.
`SynthConfig.ready()` imports those packages, so every registry is full once Django is set up."""

from __future__ import annotations

from typing import Any

# name -> Technique subclass (synth/techniques/), in menu order once synth.techniques is imported
TECHNIQUES: dict[str, Any] = {}

# name -> TeacherProvider subclass (synth/teachers/)
PROVIDERS: dict[str, Any] = {}
