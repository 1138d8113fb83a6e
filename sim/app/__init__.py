"""The teaching app: the model live in a web browser (`estate-sim app`).

controls.py holds the controls and the lesson's presets (the policies from the registry),
model.py builds the run(s) of either engine from them, drawing.py draws the district map and
the charts, monitors.py reads the worksheet's measures, events and exports off the runs,
markdown.py renders Markdown with its maths on the server, i18n.py the Chinese labels,
about.py the "About this model" text, app.py is the Solara page, server.py starts the server,
and assets.py caches Solara's web assets for classrooms without internet.
"""
