"""The dashboard's routes by concern: runs, reports, compose, citizens, downloads, experiments."""
