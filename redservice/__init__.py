"""redservice: analytics for the 在职党员进社区 programme."""

__version__ = "0.1.0"
