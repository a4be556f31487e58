"""The product's top floor, in rooms: recipes <- runtime <- episodes <- bench <- cli (a room imports only rooms to its left)."""
