//! Empty: the fixture is its tests.
