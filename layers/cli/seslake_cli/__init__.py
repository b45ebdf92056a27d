"""The `seslake` command: the laptop side of seslake.

Everything here runs on a laptop or a CI machine, never in Lambda: the command line
(`commands`), the two query engines (`engines`: DuckDB over a local lake, or a deployed stack's
Athena), the questions they are asked (`questions`), how answers are printed (`output`), the
stack on moto (`stack`, `invoke`) and the demo (`demo/`). It imports the Lambda core, the
`seslake` package of layers/seslake/, and never the other way round.
"""
