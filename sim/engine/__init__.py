"""Monte Carlo engine: replicates, seeding, workers, chunked output, summaries."""
