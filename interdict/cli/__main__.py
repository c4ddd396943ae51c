from interdict.cli import main

main()
