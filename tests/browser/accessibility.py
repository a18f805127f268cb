"""axe-core in the browser tests: the page's serious and critical accessibility violations.

axe-core is vendored under tests/browser/vendor/ (pinned, with its licence) and injected through
the DevTools protocol, so the product never serves it and its CSP stays as it is."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:
    """What axe-core finds with a serious or critical impact on the page as it is now, one line each
    (the rule, what it asks for, and where)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
