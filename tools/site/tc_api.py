"""Sphinx extension of the course website: a name written as code in the prose (`fine_tune`, `fine_tune()`,
`Learner.fit`, `core.learner.fine_tune`) links to its entry in the API reference.

The entries are the Python-domain objects tools/build_site.py writes for the library's public names. A backticked
name links when it is the end of exactly one entry's full name (after dropping a trailing `()`); an entry on the
same page wins over others, then one of the page's own module; a name still ambiguous (`TASK`, in four modules) stays
plain. Headings, signatures and links are left alone, as is a name inside its own entry.
"""
from collections import defaultdict

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.nodes import make_refnode

SKIP = (nodes.title, nodes.reference, addnodes.desc_signature, addnodes.pending_xref, nodes.literal_block,
        addnodes.toctree)


def name_index(env):
    "{every dotted ending of every entry's full name: {(docname, node_id, full name)}}, built once per build."
    index = getattr(env, '_tc_name_index', None)
    if index is not None and env._tc_name_count == len(env.get_domain('py').objects): return index
    index = defaultdict(set)
    for full, obj in env.get_domain('py').objects.items():
        if obj.objtype == 'module': continue
        target = (obj.docname, obj.node_id, full)
        parts = full.split('.')
        for i in range(len(parts)):
            index['.'.join(parts[i:])].add(target)
    env._tc_name_index, env._tc_name_count = index, len(env.get_domain('py').objects)
    return index


def enclosing_ids(node):
    "The ids of the entries (desc) that hold `node`."
    ids = set()
    while node is not None:
        if isinstance(node, addnodes.desc):
            for sig in node.findall(addnodes.desc_signature): ids.update(sig['ids'])
        node = node.parent
    return ids


class LinkCodeNames(SphinxPostTransform):
    default_priority = 20  # after Sphinx resolved its own references

    def run(self, **kwargs):
        index, docname = name_index(self.env), self.env.docname
        for node in list(self.document.findall(nodes.literal)):
            if any(isinstance(a, SKIP) for a in _ancestors(node)): continue
            text = node.astext().strip()
            key = text[:-2] if text.endswith('()') else text
            if not key.replace('.', '').replace('_', '').isalnum() or key[:1].isdigit(): continue
            # one object may have two names (a method patched onto its class: `fit` and `Learner.fit`)
            targets = {(d, i): f for d, i, f in index.get(key, ())}
            if len(targets) > 1:
                here = {k: f for k, f in targets.items() if k[0] == docname}
                targets = here or targets
            if len(targets) != 1: continue
            (todoc, node_id), full = next(iter(targets.items()))
            if node_id in enclosing_ids(node): continue
            ref = make_refnode(self.app.builder, docname, todoc, node_id, node.deepcopy(), full)
            ref['classes'].append('tc-api-link')
            node.replace_self(ref)


def _ancestors(node):
    node = node.parent
    while node is not None:
        yield node; node = node.parent


def setup(app):
    app.add_post_transform(LinkCodeNames)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
