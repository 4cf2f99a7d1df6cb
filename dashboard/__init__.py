"""socksort.dashboard"""
