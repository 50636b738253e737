"""Truth kept apart from the regime: wrongful flags, the appeal oracle, counterfactual listing."""
