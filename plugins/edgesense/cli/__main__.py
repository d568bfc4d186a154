from edgesense.cli import main

raise SystemExit(main())
