import os

import lit.formats

config.name = "rbln"
config.test_format = lit.formats.ShTest(not lit_config.isWindows)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.rbln_obj_root, "test", "lit")
path = os.pathsep.join([config.rbln_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
config.environment["PATH"] = path + os.pathsep + os.environ.get("PATH", "")
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%examples", os.path.join(config.rbln_src_root, "examples")))

# Sanitizer settings reach the tools (see test/CMakeLists.txt).
for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
