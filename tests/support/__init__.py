"""Helpers shared by several test folders: the store on both databases, the app in a browser."""
