from retell_sim.cli import main

raise SystemExit(main())
