# Models arrive with the runbooks issue; the app exists now so that the layout is stable.
