"""rbln: compile ONNX models for rbln NPUs and run them on the simulator.

    rbln.compile("model.onnx", "model.rbln", target="atom", dtype="fp16")
    rbln.Model("model.rbln").run(x=...)                 # numpy in, numpy out
    rbln.LLM("llm.rbln").generate(prompts, rbln.SamplingParams(temperature=0))
    rbln.StepRunner("llm.rbln", num_blocks=256).step([...])   # serving engines
"""
from .compiler import compile
from .errors import (CompileError, ExecutionError, InvalidInputError, LibraryNotFoundError,
                     LoadError, RblnError)
from .llm import (LLM, CompletionOutput, RequestOutput, SamplingParams, StepResult, StepRunner,
                  StepSequence)
from .model import Model, TensorSpec

__all__ = ["compile", "Model", "TensorSpec", "LLM", "SamplingParams", "RequestOutput",
           "CompletionOutput", "StepRunner", "StepSequence", "StepResult", "RblnError",
           "CompileError", "LoadError", "InvalidInputError", "ExecutionError",
           "LibraryNotFoundError"]
__version__ = "0.1.0"
