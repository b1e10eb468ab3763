"""Package discovery for flowphase (all metadata lives in ``pyproject.toml``).

The repository root is the package ``flowphase`` (its ``__init__.py`` is the curated public API) and the three code
folders ``theory/``, ``numerics/``, ``validation/`` are its sub-packages.  Every sub-package below them is found
by :func:`setuptools.find_packages`, so a new folder with an ``__init__.py`` can never be left out of a wheel.
"""
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

CODE_FOLDERS = ("theory", "numerics", "validation")


class BuildPy(build_py):
    """``build_py`` that keeps this script out of the root package ``flowphase``."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not (package == "flowphase" and m[1] == "setup")]


setup(
    packages=["flowphase"] + ["flowphase." + name for name in
                              find_packages(include=[f"{folder}*" for folder in CODE_FOLDERS])],
    package_dir={"flowphase": "."},
    cmdclass={"build_py": BuildPy},
)
