"""Writing files so that a crash never leaves a half-written one (the bottom of the import graph).

Used by every package that writes state: the gallery and index builds, the photo collection,
the model converter and the bot's own state files. It imports nothing from the project, so any
package can use it without an import cycle.
"""
from durable.files import atomic_write

__all__ = ["atomic_write"]
