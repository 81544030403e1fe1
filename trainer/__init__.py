"""rldf trainer: rollout, masking schedules, policy-loss estimators, the RL loop and masked-diffusion SFT."""
