//! Provider adapters, fixture by fixture.
