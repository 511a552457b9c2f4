"""The persistent per-printer job queue (:mod:`.store`) and its printer workers (:mod:`.worker`)."""
