"""The teaching app: the model live in a web browser (`estate-sim app`).

model.py wraps the Mesa engine for SolaraViz, drawing.py draws the district map and the charts,
app.py is the Solara page, about.py its "About this model" text, server.py starts the server,
and assets.py caches Solara's web assets for classrooms without internet.
"""
