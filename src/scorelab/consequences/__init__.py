"""What follows from a regime's decisions: jobs (issue 2); economy, network and learning (issue 4)."""
