from platform_events.cli import main

raise SystemExit(main())
