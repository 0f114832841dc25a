"""先锋积分 · Pioneer Points — backend of the party-member points mini-program."""
