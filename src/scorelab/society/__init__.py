"""Who lives here: citizens drawn from census marginals, households and a contact graph."""

from scorelab.society.model import Society, SocietySpec, build_society, load_society, save_society

__all__ = ["Society", "SocietySpec", "build_society", "load_society", "save_society"]
