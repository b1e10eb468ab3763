"""flowphase — analytic theory of phase-aware training schedules for flow-based generative models."""
__version__ = "0.2.0"
