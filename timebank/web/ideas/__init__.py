"""Co-design: residents' ideas rise on merit, coordinators and the council answer in
public."""
