"""One module per command: ``add_parser(subparsers)`` declares it, ``run(arguments)`` returns the exit code.

``critmin.cli`` lists them in ``COMMANDS``; adding a command is a new module
here and one line there.
"""
