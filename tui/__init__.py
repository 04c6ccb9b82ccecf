"""The Textual lab: the app (app), its keys (keys), dialogs (modals), the form, plots and views; the lab's
collaborators in lab/, the past-runs screen in pastruns/, the drawers in views/, its benchmark cases in
bench/.

May import: dltui.core (never a CLI module; import-linter checks it). Never imports torch itself: training and
the checks that need torch run in other processes (core/executors/trainingprocess.py, checker.py).
"""
