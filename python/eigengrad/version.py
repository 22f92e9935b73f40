"""``torch.version``'s fields as scripts read them: eigengrad's own version, and no CUDA, ROCm or git build
information (``torch.version.cuda`` is None, so ``if torch.version.cuda:`` takes the CPU branch)."""
from eigengrad._kernels import __version__

cuda = None
hip = None
git_version = None
debug = False

__all__ = ["__version__", "cuda", "hip", "git_version", "debug"]
