"""`sinkbench hunt`: search for the smallest endpoint fault plan that breaks a scenario's setting.

plan (what is varied), space (hypothesis strategies), scale (how candidates
are shortened), target (what breaking means), runner (bench runs that a
signal can stop), search (hypothesis.find with a budget), describe (a plan in
words), write (the found scenario via tomlkit), hunter (the whole hunt),
progress (its lines of text). The CLI is sinkbench/commands/hunt.py.
"""
