from redservice.cli import main

raise SystemExit(main())
