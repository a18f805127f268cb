"""What pages read, one module per page family (reviewing, adjudication, dashboard); writes are services
in review.queue, review.batches and review.exports. Import from the modules: this package re-exports
nothing, so review.queue's services can read through it without an import cycle."""
