"""everymetre: war-damage housing compensation at national scale."""

__version__ = "0.1.0"
