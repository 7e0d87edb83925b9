"""What people look at: the model card (data scientists) and the lead board (sales)."""
