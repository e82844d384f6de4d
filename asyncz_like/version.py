"""The version of this package, in a module of its own that every layer may import (the
package's ``__init__`` imports the schedulers)."""

VERSION = "0.1.0"
