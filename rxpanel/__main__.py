from rxpanel.cli import main

raise SystemExit(main())
