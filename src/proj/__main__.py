import sys

if sys.argv[1:2] == ["serve"]:  # before importing the CLI: serving an export needs no torch
    from proj.serve.main import main as serve

    serve(sys.argv[2:])
else:
    from proj.cli import main

    main()
