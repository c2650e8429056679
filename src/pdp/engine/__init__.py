"""The hot path, pure: build a policy set from its sources, compile and index its rules, evaluate, decide."""
