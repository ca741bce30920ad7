"""A decoder exported with past_key_values, run by ONNX Runtime: the
reference the Python package's and the serving tests compare against."""
import numpy as np
import onnx
import onnxruntime as ort

from check_generation import ort_generate  # ONNX Runtime's own past-KV loop


class OrtDecoder:
    def __init__(self, path):
        self.path = path
        self.model = onnx.load(path)
        so = ort.SessionOptions()
        so.log_severity_level = 3
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.vocab = [o for o in self.model.graph.output if o.name == "logits"][0] \
            .type.tensor_type.shape.dim[-1].dim_value

    def generate(self, prompt, new_tokens):
        """Greedy tokens and per-step logits."""
        return ort_generate(self.sess, self.model, prompt, new_tokens)

    def greedy(self, prompt, new_tokens):
        return self.generate(prompt, new_tokens)[0]

    def logits(self, tokens):
        """Logits of every position of `tokens` run as one prompt: [n, vocab]."""
        inputs = {i.name: i for i in self.model.graph.input}
        feed = {"input_ids": np.array([tokens], np.int64)}
        if "attention_mask" in inputs:
            feed["attention_mask"] = np.ones((1, len(tokens)), np.int64)
        if "position_ids" in inputs:
            feed["position_ids"] = np.arange(len(tokens), dtype=np.int64)[None]
        for n, i in inputs.items():
            if n.startswith("past_key_values"):
                d = i.type.tensor_type.shape.dim
                feed[n] = np.zeros([1, d[1].dim_value, 0, d[3].dim_value], np.float32)
        names = [o.name for o in self.sess.get_outputs()]
        return dict(zip(names, self.sess.run(None, feed)))["logits"][0]
