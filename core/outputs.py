"""Every file reseau writes is written here, one way, and never destroys what its path points at.

- ``destination(path)`` is the file a write to ``path`` replaces: symbolic links followed to their end
  (a dangling link gives the file it names, which the write creates). Refused with one ValueError
  naming the path and what it is: a directory, a character or block device, a FIFO, a socket, a link
  loop, a missing or read-only directory. Writers call it before they compute anything.
- ``write_bytes(path, data)`` puts ``data`` there whole or not at all: a temporary file in the
  destination's own directory, synced, renamed over the destination, the directory synced. The link
  stays a link and points at the new contents; an existing file keeps its permission bits; an error
  on the way (a full disk, Ctrl-C, SIGTERM) leaves the old file and no temporary one.
- ``directory(path)``: an output folder (created when missing), refused the same way when it is not one.

Devices and FIFOs are refused rather than written through: ``--save /dev/null`` is better said by
leaving ``--save`` out, a FIFO would hold the process until a reader comes, and a rename over either
would replace the node itself (``/dev/null`` becoming a regular file, as root).
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
import threading
from pathlib import Path

from .validation import kind_of


def destination(path, option: str | None = None) -> Path:
    """The regular file (existing or to be made) that writing ``path`` replaces, links followed;
    a ValueError naming ``option`` (an argument or CLI option) and ``path`` when it cannot be one."""
    where = _where(option, path)
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ValueError(f"{option or 'path'}={path!r} is not a file path; expected a string or pathlib.Path")
    target = Path(os.path.realpath(path))
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # a loop of links, a name too long, a component that is a file
        raise ValueError(f"{where}: cannot be written ({exc.strerror}); expected a file path") from None
    if mode is not None and stat.S_ISLNK(mode):
        raise ValueError(f"{where}: is a loop of symbolic links; expected a file path")
    if mode is not None and not stat.S_ISREG(mode):
        shown = "" if target == Path(path).absolute() else f" ({target})"
        raise ValueError(f"{where}: is {kind_of(mode)}{shown}; expected a regular file or a new file's path")
    folder = target.parent
    if not folder.is_dir():
        raise ValueError(f"{where}: the directory {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{where}: the directory {folder} is not writable")
    return target


def directory(path, option: str | None = None, create: bool = True, writable: bool = True) -> Path:
    """``path`` as a folder to write files into (made, with its parents, when missing); a
    ValueError naming ``option`` and ``path`` when it is something else or (``writable``) cannot be
    written."""
    where = _where(option, path)
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ValueError(f"{option or 'directory'}={path!r} is not a directory path; expected a string or pathlib.Path")
    path = Path(os.path.realpath(path))  # a link to a folder, or a dangling one: the folder it names
    if path.exists() and not path.is_dir():
        raise ValueError(f"{where}: is {kind_of(os.stat(path).st_mode)}; expected a directory")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(
            f"{where}: {existing} is {kind_of(os.stat(existing).st_mode)}, so no directory can be made there"
        )
    if writable and not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{where}: the directory {existing} is not writable")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"{where}: cannot create the directory ({exc.strerror or exc})") from None
    return path


def write_bytes(path, data: bytes, option: str | None = None) -> Path:
    """``data`` to ``path``'s destination, whole or not at all (see the module docstring)."""
    with writing(path, option) as f:
        f.write(data)
    return destination(path, option)


@contextlib.contextmanager
def writing(path, option: str | None = None):
    """A binary file to write ``path``'s new contents into, piece by piece: it replaces the
    destination when the block ends without an error, whole (see the module docstring); an error
    inside the block leaves the old file as it was and no temporary one."""
    target = destination(path, option)
    with _termination_as_exit():
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            os.fchmod(fd, _mode(target))
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            _sync_directory(target.parent)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def write_text(path, text: str, option: str | None = None) -> Path:
    """``text`` as UTF-8 to ``path``, as ``write_bytes``."""
    return write_bytes(path, text.encode(), option)


def _where(option, path) -> str:
    """How a message names the output: ``--save x`` (a CLI option), ``path='x'`` (an argument)."""
    if not option:
        return str(path)
    return f"{option} {path}" if option.startswith("-") else f"{option}={str(path)!r}"


def _mode(target: Path) -> int:
    """The permission bits the new file gets: the old file's, else 0666 less the umask (mkstemp's
    0600 would hide a model file from the rest of its group)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def _termination_as_exit():
    """While a file is written: SIGTERM (the default ``kill``) raises SystemExit(143) instead of
    ending the process on the spot, so the temporary file is removed on the way out. Only where
    the signal has its default disposition and on the main thread (where Python runs handlers)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _umask() -> int:
    """The process's umask (read by setting it and putting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_directory(folder):
    """fsync the directory, so the rename itself survives a power cut (POSIX; a no-op elsewhere)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
