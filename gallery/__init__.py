"""The celebrity gallery: its on-disk format (store), the photo folders it is made from (photos), the demo.

Read by the bot and the search; written by rebuild/, which holds the build itself.
"""
