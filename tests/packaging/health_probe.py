"""Run inside an isolated interpreter (`python -I -S health_probe.py BUNDLE LAYER HANDLER`).

sys.path holds the standard library, the unzipped function and the unzipped layer, nothing
else; it imports the handler, sends it the API Gateway event read from stdin and prints the
response plus every module file it loaded that lies outside the standard library.
"""

import importlib
import json
import sys
import sysconfig

bundle, layer, handler_path = sys.argv[1:4]
stdlib = [p for p in sys.path if p]  # -I -S: only the interpreter's own library
sys.path[:] = [bundle, layer, *stdlib]


class Context:
    function_name = handler_path.split(".", 1)[0]
    memory_limit_in_mb = 512
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = log_stream_name = "probe"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


module_name, _, attribute = handler_path.rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute)
response = handler(json.load(sys.stdin), Context())

stdlib_roots = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
foreign = sorted(
    {
        str(getattr(module, "__file__", None))
        for name, module in list(sys.modules.items())
        if name != "__main__"
        and getattr(module, "__file__", None)
        and not str(module.__file__).startswith((bundle, layer, *stdlib_roots))
    }
)
print(json.dumps({"response": response, "foreign_modules": foreign, "sys_path": sys.path}))
