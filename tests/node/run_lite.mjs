// Runs the xlwings Lite script (main.py) in Pyodide under Node, as xlwings Lite runs it in Excel:
// the payload becomes xw.Book(json=payload), the script's function gets the book, and the
// actions it queued (book.json()) are printed as JSON on stdout.
// Usage: node run_lite.mjs WORK_DIR SCRIPT_NAME
// WORK_DIR holds main.py, payload.json and site/ (xlwings' Python files; Lite installs xlwings).
import { loadPyodide } from "pyodide";

const [, , work, scriptName] = process.argv;
// xlwings Lite licenses its own runtime; the remote engine here asks for the key CI sets too.
const env = { HOME: "/home/pyodide", XLWINGS_LICENSE_KEY: process.env.XLWINGS_LICENSE_KEY || "noncommercial" };
const pyodide = await loadPyodide({ env, stdout: (s) => process.stderr.write(s + "\n"), stderr: (s) => process.stderr.write(s + "\n") });
pyodide.FS.mkdirTree("/work");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: work }, "/work");
const result = await pyodide.runPythonAsync(`
import json, sys
sys.path[:0] = ["/work", "/work/site"]
import xlwings as xw
import main
book = xw.Book(json=json.load(open("/work/payload.json", encoding="utf-8")))
getattr(main, ${JSON.stringify(scriptName)})(book)
json.dumps({"actions": book.json()["actions"], "python": sys.version, "platform": sys.platform}, ensure_ascii=False)
`);
process.stdout.write(result);
