from rexctl.cli import main

main()
