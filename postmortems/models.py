# Models arrive with the postmortems issue; the app exists now so that the layout is stable.
