"""Analysis of estate-sim results: tables and figures. It reads results; it never runs the model."""
