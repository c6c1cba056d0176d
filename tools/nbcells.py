"""What the course's tools read from a notebook cell: nbdev's `#| name: value` directives (one parser for all tools), and the
ANSI codes they strip from outputs."""
import re

ANSI = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')  # terminal colour and cursor codes in outputs and tracebacks
DIRECTIVE = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')


def directives(source):
    "The `#| name: value` lines that open a cell, as {name: value} (lower case, quotes dropped), and the source without them."
    lines, found = source.splitlines(), {}
    while lines and (m := DIRECTIVE.match(lines[0])):
        found[m[1].lower()] = m[2].strip().strip('"\'').lower(); lines.pop(0)
    return found, '\n'.join(lines)
