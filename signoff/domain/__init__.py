"""What an item, evidence, a challenge and a guard are: no SQL, no click, no rich."""
