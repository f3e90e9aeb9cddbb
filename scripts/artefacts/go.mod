module labkit.local/artefacts

go 1.22
